from gateway.simulate import Phone


def test_a_report_gets_a_reference(client):
    phone = Phone(client).dial()
    assert phone.screen.startswith("CON")
    print(phone.screen)
    phone.press("1", "1", "1", "9001111", "1", "1", "1")
    print(phone.screen)
    phone.press("1")
    print(phone.screen)
    assert phone.screen.startswith("END")

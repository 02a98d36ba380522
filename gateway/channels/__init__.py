"""How messages arrive: one module per door (USSD hops, SMS from villagers and from committee
members), and `intake`, which takes a report in whatever door it came through."""

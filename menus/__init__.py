"""The USSD/SMS conversation as pure code: (state, input) -> (screen, new state).

Nothing here imports FastAPI, Redis or SQL; the directory and the case store reach the engine
through small protocols (`menus.engine.Places`) and effects the caller carries out.
"""

# Run explicitly (see the pytest resource in the Tiltfile); the name keeps
# tilt-lsp's own pytest run from collecting this file.
def test_app_imports():
    import app.main  # noqa: F401

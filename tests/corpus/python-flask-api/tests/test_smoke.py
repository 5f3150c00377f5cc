def test_app_imports():
    import app.main  # noqa: F401

from .app import app

app.main()

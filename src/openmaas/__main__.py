from openmaas.cli import app

app()

"""`run.py web`: server-rendered pages to make, save and watch filters in a browser."""

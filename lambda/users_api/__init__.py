"""The users API: a payload-2.0 Lambda handler (app.py) serving the resources composed in api.py."""

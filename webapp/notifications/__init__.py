"""Notifications: the emails a booking's changes mean, and the Lambda that sends them.

A separate function in AWS (the table's stream and an hourly schedule), so nothing here
needs Flask:
- `decide.py`: which emails a change means (a pure function of the two item images);
- `render.py`: what they say (its own Jinja environment, the `.ics` file);
- `send.py`: how they go out (SES, an outbox folder, or the console);
- `worker.py`: the notifier itself (claims for exactly-once delivery, reminders) and its
  Lambda handlers;
- `events.py`: the in-process path, for local runs and tests where no stream exists.
"""

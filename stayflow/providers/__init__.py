"""Clients of the outside world, each behind one small interface and chosen by settings in
one place (`email_sender_for`, and later SMS and payments). With no keys set, local fakes
stand in so that a developer can run everything offline."""

"""Telephony providers. The sandbox (default) needs no network; Twilio answers with TwiML."""

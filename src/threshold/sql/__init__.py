"""The SQL wall shared by the gateway and every capability that stores SQL: what user SQL may say
(`check.py`, the allow-list of functions in `functions.txt`), decided on the parse tree."""

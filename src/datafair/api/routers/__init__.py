"""One router per resource; each handler parses, authorizes, calls one service, renders."""

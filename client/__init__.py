"""The member and organizer side: keys, signing statements with the right seq,
and the `liquid-mandate` command line that talks to a server over HTTP."""

"""Call progress analysis: what the audio of a call says before anybody talks to the robot.

- :mod:`waihu.cpa.tones`: pure tones per 20 ms frame and their cadences (ring-back, busy tone, beeps).
- :mod:`waihu.cpa.phrases`: carrier-announcement and voicemail phrase rules on recognised text.
- :mod:`waihu.cpa.announcements`: early media (before the answer) → ``invalid_number``, ``powered_off`` …
- :mod:`waihu.cpa.early_media`: dialling with an early-media listener that hangs up once it is sure.
- :mod:`waihu.cpa.amd`: after the answer, a human or an answering machine?
- :mod:`waihu.cpa.voicemail`: on a live call, watch for a machine and hang up or leave a message.
"""

"""The interdistrict permit workflow on the time-skipping server (seed 000, EC 46600 ff.).

The server's clock only moves forward, so each test computes its dates from the server's
"today" and checks each deadline from both sides: the clock is moved to the last second before
the day ends and the state is unchanged (`quiet_until`), just after it the workflow has acted.
"""

"""Two-way iCal calendar sync (issue 13): pure parts shared by the API and the activities.

`ical` builds a listing's export feed and reads other platforms' feeds into nights;
`fetch` fetches a host-given feed URL under the SSRF rules. No database here.
"""

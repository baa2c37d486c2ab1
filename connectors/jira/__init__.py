"""Jira: issues resolved, epics completed and incidents, through JQL."""

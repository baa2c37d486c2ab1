"""Linear: issues I completed and projects completed, through its GraphQL API."""

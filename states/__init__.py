"""State machines (transitions): states and transitions as data, pure guards, and the workflow that
persists a move and its audit event in one transaction."""

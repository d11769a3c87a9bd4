"""Domain model: SQLModel tables, the framework (criteria tree), scoring rules, the audit trail."""

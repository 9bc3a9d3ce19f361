from claimwise.process import rules_admin  # noqa: F401  (rules and the approval matrix)

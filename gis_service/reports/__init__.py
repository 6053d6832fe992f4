"""Field reports (issue 4): categories and deadlines, the working-day calendar, agencies and
their jurisdiction rules, routing a report to the responsible agency, and the report lifecycle."""

"""Getting segments to the people who act on them: reports and exports."""

"""Pure types and rules (lessons, grading, schedules, spaced repetition); standard library only."""

"""microlearn: self-hosted microlearning in Slack, lessons delivered as scheduled quizzes."""

"""Local development: the services the app needs, without an AWS account."""

// Entry point: the CLI is wired in later issues.
print("purview-gateway")

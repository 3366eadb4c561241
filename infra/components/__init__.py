"""One Pulumi ComponentResource per piece of the stack; the decisions they apply live in pure modules."""

"""`pulumi up` returns only when KFP answers: a check run by the stack (pulumi-command) after KFP is applied.
`assess` is the pure decision over pods/Deployments as the API returns them; `__main__` polls the cluster."""

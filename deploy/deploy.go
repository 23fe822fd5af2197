package deploy

// The Temporal server's files that docker-compose.yml and `make stack`
// (devstack/prodstack) share, relative to the repository root: one server
// configuration template, one set of schema commands, one registration
// script. The deploy test checks that compose mounts and runs exactly these
// and that the local stack runs the same.
const (
	TemporalConfig   = "deploy/temporal/config.yaml"
	TemporalSchema   = "deploy/temporal/schema.sh"
	TemporalRegister = "deploy/temporal/register.sh"
)

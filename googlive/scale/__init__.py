"""Running as replicas: capacity and the load balancer's agent (replica), ICE/TURN
servers and credentials (ice)."""

"""What server.py needs besides routing: Prometheus metrics and the OpenAPI
document. No module here imports server.py."""

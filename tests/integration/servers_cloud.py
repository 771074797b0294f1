"""moto_server and drongo fixtures (filled in by the AWS/GCP backend work)."""

"""The Surveillance server: Flask API, persistence, offline video jobs, live sessions, users."""

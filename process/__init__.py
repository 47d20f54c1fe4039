"""What one service process is: the app connected inside its own event loop (process_app.py),
uvicorn's server and worker supervisor with a graceful shutdown (shutdown.py), and the garbage
collector set for serving (gc_tuning.py)."""

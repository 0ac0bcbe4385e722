#!/nonexistent/interpreter
{}

// timestamp.cpp: being written (issue 3).

// chain_analytics.cpp: being written (issue 3).

"""Domain core: metrology, sampling, planning. Plain Python, no Qt, no database."""

"""Analysis of the risk points: area risk scores, hot spots and the provincial KPIs."""

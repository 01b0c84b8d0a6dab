"""Thai text: cleaning, digits, dates and fiscal years, severity words."""

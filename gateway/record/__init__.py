"""What is stored and how it is read: the SQL models and schema migrations, the directory of
places and contacts (import, and the reads the menu and the router need), retention."""

"""The platform's books as admins read them: the trial balance over every posting."""

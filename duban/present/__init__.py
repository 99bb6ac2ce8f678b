"""What both faces show and accept: errors as a person reads them, labelled results, input models."""

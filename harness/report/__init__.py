"""What a run leaves for people: Allure results, the offline HTML report, the verdict matrix,
merged runs."""

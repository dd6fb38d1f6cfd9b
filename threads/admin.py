from django.contrib import admin

from .models import Author

# Thread and Comment are registered in moderation/admin.py: their admin pages
# are moderation surfaces (state counts, actions through moderation.services).


@admin.register(Author)
class AuthorAdmin(admin.ModelAdmin):
    list_display = ["name", "identity"]
    search_fields = ["name"]
    readonly_fields = ["identity", "email_hash"]

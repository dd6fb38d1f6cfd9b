from django.contrib import admin

from .models import Author, Comment, Thread


@admin.register(Thread)
class ThreadAdmin(admin.ModelAdmin):
    list_display = ["title", "source", "external_id", "author_name", "published_at"]
    list_filter = ["source"]
    search_fields = ["title", "external_id", "author_name", "url"]
    date_hierarchy = "published_at"


@admin.register(Author)
class AuthorAdmin(admin.ModelAdmin):
    list_display = ["name", "identity"]
    search_fields = ["name"]
    readonly_fields = ["identity", "email_hash"]


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["external_id", "thread", "author_name", "state", "depth", "created_at"]
    list_filter = ["state", "thread__source"]
    list_select_related = ["thread"]
    search_fields = ["body", "author_name", "external_id"]
    raw_id_fields = ["thread", "parent", "author"]
    readonly_fields = ["content_hash", "path", "depth", "version"]

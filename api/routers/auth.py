"""Routes for the auth domain (filled in by its issue)."""

from fastapi import APIRouter

router = APIRouter()

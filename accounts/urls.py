from accounts import apis
from flashlearn.paths import both

urlpatterns = [
    *both("api/v1/auth/signup", apis.SignupApi.as_view(), name="auth-signup"),
    *both("signup", apis.SignupApi.as_view()),
    *both("api/v1/auth/login", apis.LoginApi.as_view(), name="auth-login"),
    *both("login", apis.LoginApi.as_view()),
    *both("api/v1/auth/refresh", apis.RefreshApi.as_view(), name="auth-refresh"),
    *both("api/v1/auth/logout", apis.LogoutApi.as_view(), name="auth-logout"),
    *both("api/v1/auth/password", apis.PasswordChangeApi.as_view(), name="auth-password"),
    *both("api/v1/auth/profile", apis.ProfileApi.as_view(), name="auth-profile"),
    *both("auth/profile", apis.ProfileApi.as_view()),
]

{#-
    Generic test: every non-null value of the column names a time zone the warehouse knows
    (an IANA name such as Europe/Berlin). A misspelt zone would otherwise fail every query
    that converts a store's local time.
-#}
{% test is_valid_time_zone(model, column_name) %}
    {{ return(adapter.dispatch('test_is_valid_time_zone')(model, column_name)) }}
{% endtest %}

{% macro default__test_is_valid_time_zone(model, column_name) %}
    select {{ column_name }}
    from {{ model }}
    where
        {{ column_name }} is not null
        and {{ column_name }} not in (select name from pg_timezone_names)
{% endmacro %}

{% macro duckdb__test_is_valid_time_zone(model, column_name) %}
    select {{ column_name }}
    from {{ model }}
    where
        {{ column_name }} is not null
        and {{ column_name }} not in (select name from pg_timezone_names())
{% endmacro %}

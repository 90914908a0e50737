{#-
    Generic test: the column holds exactly the keys of `field` in the model `to` — none
    missing, none extra (nulls ignored). With `unique` on the column, that is "one row per
    key of `to`": e.g. one row per person in dim_customers.
-#}
{% test same_keys_as(model, column_name, to, field) %}
    with

    model_keys as (

        select distinct {{ column_name }} as key_value
        from {{ model }}
        where {{ column_name }} is not null

    ),

    expected_keys as (

        select distinct {{ field }} as key_value
        from {{ to }}
        where {{ field }} is not null

    )

    select
        'missing' as problem,
        expected_keys.key_value
    from expected_keys
    left join model_keys
        on expected_keys.key_value = model_keys.key_value
    where model_keys.key_value is null
    union all
    select
        'unexpected' as problem,
        model_keys.key_value
    from model_keys
    left join expected_keys
        on model_keys.key_value = expected_keys.key_value
    where expected_keys.key_value is null
{% endtest %}

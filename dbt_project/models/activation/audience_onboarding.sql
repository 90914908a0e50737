{#-
    Onboarding: first-time buyers, welcomed and guided to a second order. In: lifecycle new
    (first order within var `lifecycle_new_days` days of the as-of date).
-#}
with

customers as (

    select * from {{ ref('customer_360') }}

),

final as (

    select
        person_id,
        'onboarding' as audience,
        as_of_date,
        segment_name,
        rfm_segment,
        lifecycle_stage,
        p_purchase_30d,
        p_churn,
        predicted_value_12m
    from customers
    where lifecycle_stage = 'new'

)

select * from final
